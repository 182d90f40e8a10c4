# Warnings are PRIVATE per-target options, never global CMAKE_CXX_FLAGS.
function(moeroute_set_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                              -Wno-sign-conversion)
    if(MOEROUTE_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()

# LibTorch's own headers trip -Wconversion/-Wshadow/-Wpedantic: targets that include them relax
# those three (after moeroute_set_warnings) and keep the rest.
function(moeroute_relax_warnings_for_torch target)
  target_compile_options(${target} PRIVATE -Wno-conversion -Wno-shadow -Wno-pedantic)
endfunction()
