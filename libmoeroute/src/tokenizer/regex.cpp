#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex.h"

#include <pcre2.h>

#include <fmt/format.h>

#include "moeroute/error.h"
#include "tokenizer/utf8.h"

namespace moeroute::detail {

namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

// One JIT stack per thread: patterns with long repeats need more than the default 32 KiB.
pcre2_jit_stack* thread_jit_stack() {
  struct Holder {
    pcre2_jit_stack* stack = pcre2_jit_stack_create(64 * 1024, 16 * 1024 * 1024, nullptr);
    ~Holder() { pcre2_jit_stack_free(stack); }
  };
  thread_local Holder holder;
  return holder.stack;
}

struct MatchData {
  pcre2_match_data* data;
  pcre2_match_context* context;
  MatchData() : data(pcre2_match_data_create(1, nullptr)), context(pcre2_match_context_create(nullptr)) {
    pcre2_jit_stack_assign(context, nullptr, thread_jit_stack());
  }
  ~MatchData() {
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
  MatchData(const MatchData&) = delete;
  MatchData& operator=(const MatchData&) = delete;
};

}  // namespace

struct Regex::Impl {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Impl() { pcre2_code_free(code); }

  // Runs one match from `offset`; returns false when there is none.
  bool match(std::string_view text, std::size_t offset, MatchData& md, std::size_t& start, std::size_t& end) const {
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    const int rc = jit ? pcre2_jit_match(code, subject, text.size(), offset, 0, md.data, md.context)
                       : pcre2_match(code, subject, text.size(), offset, PCRE2_NO_UTF_CHECK, md.data, md.context);
    if (rc == PCRE2_ERROR_NOMATCH) return false;
    if (rc < 0) throw Error(fmt::format("tokenizer regex match failed: {}", pcre2_message(rc)));
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.data);
    start = ov[0];
    end = ov[1];
    return true;
  }
};

Regex::Regex(std::string_view pattern, const std::string& source) : impl_(std::make_unique<Impl>()) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                              PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (impl_->code == nullptr)
    throw InputError(fmt::format("{}{}regex rejected by PCRE2 at offset {}: {}", source, source.empty() ? "" : ": ", offset,
                                 pcre2_message(error)));
  impl_->jit = pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

void Regex::find_all(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const {
  MatchData md;
  std::size_t offset = 0;
  std::size_t start = 0;
  std::size_t end = 0;
  while (offset <= text.size() && impl_->match(text, offset, md, start, end)) {
    if (end > start) {
      out.emplace_back(start, end);
      offset = end;
    } else {
      if (start >= text.size()) break;
      const std::size_t n = utf8_sequence_length(text, start);
      offset = start + (n == 0 ? 1 : n);
    }
  }
}

bool Regex::search(std::string_view text) const {
  MatchData md;
  std::size_t start = 0;
  std::size_t end = 0;
  return impl_->match(text, 0, md, start, end);
}

std::string regex_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 2);
  for (const char c : text) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::unique_ptr<Regex> regex_from_pattern(const JsonField& pattern) {
  std::string regex;
  if (pattern.has("String")) regex = regex_escape(pattern.at("String").string());
  else if (pattern.has("Regex")) regex = pattern.at("Regex").string();
  else pattern.fail("expected {\"String\": …} or {\"Regex\": …}");
  try {
    return std::make_unique<Regex>(regex, "");
  } catch (const InputError& e) {
    pattern.fail(e.what());
  }
}

}  // namespace moeroute::detail
