// Shared helpers of the tokenizer tests: test data paths and file reading.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace moeroute::test {

inline std::filesystem::path tokenizer_data(const std::string& name) {
  return std::filesystem::path(MOEROUTE_TEST_DATA_DIR) / "tokenizer" / name;
}

inline std::string read_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline nlohmann::json read_json(const std::filesystem::path& file) { return nlohmann::json::parse(read_bytes(file)); }

/// The input bytes of a corpus.json case: its `text`, or its `hex` bytes.
inline std::string case_bytes(const nlohmann::json& c) {
  if (c.contains("text")) return c["text"].get<std::string>();
  const std::string hex = c["hex"].get<std::string>();
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

}  // namespace moeroute::test
