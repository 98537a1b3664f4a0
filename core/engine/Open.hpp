// Opening the engine of a namespace: the one place that knows which engines exist.
#pragma once

#include "base/Location.hpp"
#include "engine/Engine.hpp"

#include <memory>

namespace cacheman::engine {

// Opens the namespace at `location` (today: the SQLite file <dir>/<namespace>.sqlite). Throws
// StoreError when it cannot be created or opened, is not a cacheman store, or was written by a
// newer cacheman.
std::unique_ptr<Engine> open_engine(const Location& location, OpenMode mode,
                                    const EngineOptions& options);

} // namespace cacheman::engine
