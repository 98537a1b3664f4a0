// `check`: the file's integrity (PRAGMA integrity_check), its schema version, and whether its
// tables agree with each other (edges between existing caches, one entries table per cache).
#pragma once

#include "engine/Types.hpp"
#include "engine/sqlite/Connection.hpp"

namespace cacheman::sqlite {

// Damage bad enough to stop the check midway is itself reported as a finding.
engine::CheckReport check_store(Connection& connection);

} // namespace cacheman::sqlite
