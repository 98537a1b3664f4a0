// Wall-clock time as unix seconds, from an injectable clock so that tests control time.
#pragma once

#include <chrono>
#include <functional>

namespace cacheman {

using Clock = std::function<double()>;

// `clock()` when one is given, else the system clock.
inline double unix_now(const Clock& clock = {}) {
    if (clock) {
        return clock();
    }
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

} // namespace cacheman
