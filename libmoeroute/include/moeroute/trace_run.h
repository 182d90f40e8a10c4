// The `trace` job: a model run over a whole dataset, teacher-forced (no generation), written as a
// dataset trace (moeroute/dataset_trace.h): per sample its token ids, loss (mean next-token NLL,
// nats) and token count; per layer and token the router logits, top-k ids and gate weights.
// Samples are scored in padded batches formed inside each shard, so a shard's bytes do not depend
// on how the dataset was split over processes (--shard I/N, torchrun, Slurm) or on a restart.
// Options, truncation and outputs: docs/dataset-trace.md, "The tracing command".
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "moeroute/causal_lm.h"
#include "moeroute/dataset.h"
#include "moeroute/dataset_trace.h"
#include "moeroute/run_config.h"

namespace moeroute {

/// What the job prints on stderr while it runs.
enum class TraceProgressMode {
  Auto,   ///< a bar redrawn in place when stderr is a terminal, else plain lines
  Bar,    ///< a bar redrawn in place
  Lines,  ///< a plain line every few seconds
  None,   ///< nothing (warnings are still returned in TraceRunResult)
};
/// "auto", "bar", "lines", "none".
std::string to_string(TraceProgressMode m);
/// Inverse of to_string; throws InputError listing the names.
TraceProgressMode parse_trace_progress_mode(const std::string& name);

struct TraceRunOptions {
  RunConfig run;                     ///< model, model options, recording (layers, top-k, logits and their dtype), chat template
  std::vector<DatasetFile> files;    ///< the dataset, in order
  DatasetOptions dataset;            ///< how the files are read (format, fields, max_samples per file)
  std::filesystem::path out;         ///< the dataset-trace directory; a run there with the same settings resumes
  std::string shard;                 ///< "I/N"; "" = RANK/WORLD_SIZE, else SLURM_PROCID/SLURM_NTASKS, else 0/1
  int64_t shard_size = 64;           ///< samples per shard (about twice a shard's routing is held in memory)
  int batch_size = 8;                ///< samples per forward pass (padded; 1 when the model takes no padded batches)
  int64_t max_tokens = 0;            ///< tokens kept per sample, its first ones (0 = the model's context, if known)
  bool strict = false;               ///< refuse a sample longer than the model's context instead of truncating it
  TraceProgressMode progress = TraceProgressMode::Auto;  ///< what is printed on stderr while tracing
};

struct TraceRunResult {
  std::filesystem::path index;     ///< the index this process wrote (trace.json, or its rank's index)
  ShardSelection selection;        ///< this process's part and where it came from
  int64_t shards = 0;              ///< shards of this process
  int64_t shards_resumed = 0;      ///< of them, kept from an earlier run
  int64_t samples = 0;             ///< samples traced by this run
  int64_t tokens = 0;              ///< tokens traced by this run
  int64_t truncated = 0;           ///< samples of this run cut to the token limit
  int64_t token_limit = 0;         ///< the limit applied (0 = none)
  double seconds = 0;              ///< time spent tracing (model loading excluded)
  bool complete = false;           ///< every shard of this process is written
  std::vector<std::string> warnings;  ///< dataset warnings, truncation, the limits applied
};

/// Validates everything it can before the model loads (options, --shard and the launcher's
/// variables, every dataset record, an explicit chat template, an index of another run in `out`),
/// loads options.run.model and traces the pending shards. Throws InputError for bad input,
/// IoError when writing fails.
TraceRunResult trace_dataset(const TraceRunOptions& options);

/// The same with a model already loaded (options.run.model still names it in the index and the
/// shards; options.run.model_options are not used).
TraceRunResult trace_dataset(CausalLM& model, const TraceRunOptions& options);

}  // namespace moeroute
