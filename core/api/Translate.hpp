// The one place where core's internal errors become the library's public ones. Every public
// function of the library runs its body through translated(), so a caller only ever sees
// cacheman::Error and its subclasses (or a standard exception such as std::bad_alloc).
#pragma once

#include <utility>

namespace cacheman::api {

// Rethrows the exception being handled: core's errors as their public counterparts, with the
// same message; public errors and anything else unchanged. Call only from inside a catch block.
[[noreturn]] void rethrow_public();

template <class Body> decltype(auto) translated(Body&& body) {
    try {
        return std::forward<Body>(body)();
    } catch (...) {
        rethrow_public();
    }
}

} // namespace cacheman::api
