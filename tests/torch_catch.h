// Catch2 for tests that use LibTorch: LibTorch's logging (glog) defines CHECK as an aborting
// assertion, which would silently replace Catch's CHECK. Include this instead of catch.hpp, before
// anything else, so Catch defines CHECK last.
#pragma once

#include <torch/script.h>
#undef CHECK
#include <catch2/catch.hpp>
