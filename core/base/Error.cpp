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

void rethrow_with_context(const StoreError& error, const std::string& context) {
    if (dynamic_cast<const LockedError*>(&error) != nullptr) {
        throw LockedError(context + error.what());
    }
    throw StoreError(context + error.what());
}

} // namespace cacheman
