#include "engine/Open.hpp"

#include "engine/sqlite/SqliteEngine.hpp"

namespace cacheman::engine {

std::unique_ptr<Engine> open_engine(const Location& location, OpenMode mode,
                                    const EngineOptions& options) {
    return std::make_unique<sqlite::SqliteEngine>(location, mode, options);
}

} // namespace cacheman::engine
