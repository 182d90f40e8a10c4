// device_map "auto" placement on made-up GPUs.
#include <catch2/catch.hpp>

#include "moeroute/device_map.h"
#include "moeroute/error.h"

using namespace moeroute;

TEST_CASE("everything on one device when it fits", "[device_map]") {
  const auto p = place_layers({10, {20, 20, 20}, 10, {100}});
  CHECK(p.embed_device == 0);
  CHECK(p.layer_devices == std::vector<int>{0, 0, 0});
  CHECK(p.head_device == 0);
  CHECK(p.device_bytes == std::vector<int64_t>{80});
}

TEST_CASE("layers spill to the next device in order", "[device_map]") {
  // GPU0 takes embed (10) + 2 layers (40); the third layer would make 70 > 60.
  const auto p = place_layers({10, {20, 20, 20, 20}, 15, {60, 60, 60}});
  CHECK(p.embed_device == 0);
  CHECK(p.layer_devices == std::vector<int>{0, 0, 1, 1});
  CHECK(p.head_device == 1);  // 40 + 15 ≤ 60
  CHECK(p.device_bytes == std::vector<int64_t>{50, 55, 0});
}

TEST_CASE("the head moves on when the last layer's device is full", "[device_map]") {
  const auto p = place_layers({0, {30, 30}, 20, {60, 60}});
  CHECK(p.layer_devices == std::vector<int>{0, 0});
  CHECK(p.head_device == 1);
}

TEST_CASE("a device too small for anything is skipped", "[device_map]") {
  const auto p = place_layers({5, {20, 20}, 5, {4, 100}});
  CHECK(p.embed_device == 1);
  CHECK(p.layer_devices == std::vector<int>{1, 1});
  CHECK(p.device_bytes == std::vector<int64_t>{0, 50});
}

TEST_CASE("a model that does not fit is refused with the sizes", "[device_map]") {
  const int64_t gib = int64_t{1} << 30;
  try {
    place_layers({gib, {10 * gib, 10 * gib, 10 * gib}, gib, {16 * gib, 16 * gib}});
    FAIL("placed");
  } catch (const InputError& e) {
    // layer 2 needs 10 GiB but GPU1 has 6 left; the sums are 32 needed vs 32 offered
    CHECK_THAT(e.what(), Catch::Contains("layer 2") && Catch::Contains("10.00 GiB") && Catch::Contains("32.00 GiB") &&
                             Catch::Contains("2 device(s)"));
  }
  CHECK_THROWS_AS(place_layers({1, {1}, 1, {}}), InputError);
}
