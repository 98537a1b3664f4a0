// Wall-clock time as unix seconds, from an injectable clock so that tests control time.
//
// Every read of the current time in cacheman goes through unix_now(). Besides a Clock injected
// by code (the unit tests, the library's ManagerOptions::clock), it honours the documented test
// clock: with CACHEMAN_TEST=1 in the environment, CACHEMAN_NOW (unix seconds) is the current
// time, so that end-to-end tests move time by setting a variable instead of sleeping.
#pragma once

#include "base/Location.hpp"

#include <functional>
#include <optional>

namespace cacheman {

using Clock = std::function<double()>;

// The test clock that `env` sets: CACHEMAN_NOW as unix seconds (digits, optionally a fraction:
// 1700000000 or 1700000000.25) when CACHEMAN_TEST is "1", else nullopt. CACHEMAN_NOW unset or
// empty is nullopt too (the system clock). Throws UsageError when CACHEMAN_TEST is "1" and
// CACHEMAN_NOW is not such a number.
std::optional<double> test_clock_time(const EnvLookup& env);

// test_clock_time() of this process's environment, read once per process (later changes to the
// environment are not seen). Throws UsageError as test_clock_time() does, on every call.
std::optional<double> process_test_clock_time();

// `clock()` when one is given, else the process's test clock when it is set, else the system
// clock. Throws UsageError for an invalid test clock (see test_clock_time()).
double unix_now(const Clock& clock = {});

} // namespace cacheman
