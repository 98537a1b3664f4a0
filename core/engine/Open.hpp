// Opening the engine of a namespace: the one place that knows which engines exist.
#pragma once

#include "base/Location.hpp"
#include "engine/Engine.hpp"

#include <memory>

namespace cacheman::engine {

// Opens the namespace at `location`: the SQLite file <dir>/<namespace>.sqlite, or for a
// location with a store URL, the engine the program registered for it. Throws StoreError when
// it cannot be created or opened, is not a cacheman store, was written by a newer cacheman, or
// (a store URL) this program has no engine for it.
std::unique_ptr<Engine> open_engine(const Location& location, OpenMode mode,
                                    const EngineOptions& options);

// The engine of postgresql:// stores, which only cacheman-postgresql links (libpq costs the
// static cacheman start-up time): its main() registers it before running the commands.
using StoreOpener = std::unique_ptr<Engine> (*)(const Location& location, OpenMode mode,
                                                const EngineOptions& options);
void register_store_opener(StoreOpener opener) noexcept;
// Whether this program can open a store URL itself.
bool has_store_opener();

} // namespace cacheman::engine
