// Validation of user-supplied names. Every check throws UsageError (exit 2) naming what was wrong,
// before any file is touched.
#pragma once

#include <string>
#include <string_view>

namespace cacheman {

// True when bytes are well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view bytes);

// A namespace: 1-64 characters of [A-Za-z0-9._-], not starting with '.'.
void validate_namespace(std::string_view name);

// A cache name: 1-255 bytes of UTF-8 without control characters (U+0000-U+001F, U+007F).
void validate_cache_name(std::string_view name);

// A key: any UTF-8 text without NUL (the empty key included).
void validate_key(std::string_view key);

// A name or key for a message: quoted, and cut (at a character boundary) after 64 bytes.
std::string quoted_for_message(std::string_view name);

} // namespace cacheman
