#include "moeroute/simulate.h"

#include <utility>

#include "moeroute/atomic_file.h"
#include "moeroute/error.h"
#include "moeroute/report.h"

namespace moeroute {

std::vector<std::string> run_simulate(const SimulateJob& job) {
  if (job.html.empty() && job.gif.empty() && job.preview.empty())
    throw InputError("simulate: nothing to write; give --html, --gif and/or --preview");
  job.options.simulator.validate();
  job.options.picture.validate();
  std::vector<std::pair<std::filesystem::path, std::string>> files;
  if (!job.gif.empty()) files.emplace_back(job.gif, simulation_gif(job.options));
  if (!job.preview.empty()) files.emplace_back(job.preview, simulation_preview_png(job.options));
  if (!job.html.empty()) {
    ReportOptions o;
    o.og_image = job.og_image;
    files.emplace_back(job.html, simulator_html(job.replay, o));
  }
  std::vector<std::string> written;
  for (const auto& [path, bytes] : files) {
    write_file_atomic(path, bytes);
    written.push_back(path.string());
  }
  return written;
}

}  // namespace moeroute
