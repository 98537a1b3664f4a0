// Which store a command uses when it is a server: --store URL, else $CACHEMAN_STORE, checked
// before anything connects. Only postgresql:// and postgres:// URLs (libpq's syntax) are stores;
// a URL that holds a password is refused, since argv and the environment of a process are
// readable by others (`ps`, /proc): libpq has safer ways to give one.
#pragma once

#include "base/Location.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace cacheman {

// The store URL, or nullopt for the SQLite store under the directory. An explicit --store
// with an explicit --dir is a UsageError; $CACHEMAN_STORE gives way to an explicit --dir.
// Throws UsageError (never echoing the URL, which may hold a secret) for what is not a
// postgresql:// URL and for a URL with a password.
std::optional<std::string> resolve_store(const std::optional<std::string>& store_option,
                                         const std::optional<std::string>& dir_option,
                                         const EnvLookup& env = process_env);

// Throws UsageError unless `url` is a postgresql:// or postgres:// URL without a password.
void validate_store_url(std::string_view url);

// Whether `where` names a store by URL (it holds "://") rather than a directory.
bool names_store_url(std::string_view where);

// The namespace `name_space` in the store that `where` names (copy --to/--from): a URL,
// validated as validate_store_url does, or a store directory. Throws UsageError for an empty
// one and for a URL that is not a store's.
Location store_location(std::string_view where, const std::string& name_space);

} // namespace cacheman
