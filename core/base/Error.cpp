// The errors' key functions: their vtables live here.
#include "base/Error.hpp"

namespace cacheman {

inline namespace v1 {

Error::~Error() = default;
NotFoundError::~NotFoundError() = default;
UsageError::~UsageError() = default;
StoreError::~StoreError() = default;
LockedError::~LockedError() = default;
HookError::~HookError() = default;
SpawnError::~SpawnError() = default;
Interrupted::~Interrupted() = default;

} // namespace v1

} // namespace cacheman
