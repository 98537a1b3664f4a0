// A clock for EngineOptions::clock that only moves when the test says so.
#pragma once

#include "engine/Types.hpp"

#include <functional>
#include <memory>

namespace cacheman::test {

class TestClock {
  public:
    static constexpr double k_start = 1'700'000'000.0;

    [[nodiscard]] double now() const { return *m_now; }
    void advance(double seconds) const { *m_now += seconds; }
    [[nodiscard]] std::function<double()> function() const {
        return [now = m_now] { return *now; };
    }
    // Engine options on this clock.
    [[nodiscard]] engine::EngineOptions options() const {
        engine::EngineOptions options;
        options.clock = function();
        return options;
    }

  private:
    std::shared_ptr<double> m_now = std::make_shared<double>(k_start);
};

} // namespace cacheman::test
