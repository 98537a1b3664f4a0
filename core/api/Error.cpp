// The translation point (see Translate.hpp), and the public errors' key functions.
#include "Error.hpp"

// Core's errors have the public ones' names: cacheman::Error here, cacheman::v1::Error in the
// public header. Once that header is included, `cacheman::Error` names both, so core's are named
// through these aliases, taken before it.
namespace cacheman::api::internal {
using Error = cacheman::Error;
using NotFoundError = cacheman::NotFoundError;
using UsageError = cacheman::UsageError;
using StoreError = cacheman::StoreError;
using LockedError = cacheman::LockedError;
using HookError = cacheman::HookError;
} // namespace cacheman::api::internal

#include "api/Translate.hpp"

#include <cacheman/cacheman.hpp>

namespace cacheman {

inline namespace v1 {

Error::~Error() = default;
NotFoundError::~NotFoundError() = default;
UsageError::~UsageError() = default;
StoreError::~StoreError() = default;
LockedError::~LockedError() = default;
HookError::~HookError() = default;

} // namespace v1

void api::rethrow_public() {
    try {
        throw;
    } catch (const v1::Error&) {
        throw;
    } catch (const internal::NotFoundError& error) {
        throw v1::NotFoundError(error.what());
    } catch (const internal::UsageError& error) {
        throw v1::UsageError(error.what());
    } catch (const internal::LockedError& error) {
        throw v1::LockedError(error.what());
    } catch (const internal::StoreError& error) {
        throw v1::StoreError(error.what());
    } catch (const internal::HookError& error) {
        throw v1::HookError(error.what());
    } catch (const internal::Error& error) {
        // A kind of core error this translation does not know yet: still a cacheman::Error.
        throw v1::Error(v1::ErrorKind::store, error.what());
    }
}

} // namespace cacheman
