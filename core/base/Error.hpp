// The errors core reports: the one hierarchy of the public header <cacheman/Error.hpp>, which
// the library's users catch as they are. cli catches them in one place and maps each kind to an
// exit status (see CONTRACT.md "Exit status"); core itself never prints and never exits.
#pragma once

#include <cacheman/Error.hpp>

namespace cacheman {

// Throws the same kind of store error (a LockedError stays one) with `context` before its
// message, so that it names the cache or key it was about.
[[noreturn]] void rethrow_with_context(const StoreError& error, const std::string& context);

} // namespace cacheman
