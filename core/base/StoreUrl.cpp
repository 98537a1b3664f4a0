#include "base/StoreUrl.hpp"

#include "base/Error.hpp"

#include <cctype>
#include <string>

namespace cacheman {

namespace {

constexpr std::string_view k_password_help =
    "a store URL must not hold a password (others can read a command line and its environment): "
    "give it in libpq's password file (~/.pgpass, or the file $PGPASSFILE names), a service file "
    "($PGSERVICEFILE), $PGPASSWORD, or use a client certificate";

// `text` with its %XX escapes decoded, as libpq decodes a URL's parts (an escape that is not
// two hex digits is kept as it is: libpq refuses such a URL anyway).
std::string percent_decoded(std::string_view text) {
    const auto hex = [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c)) != 0;
    };
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) && hex(text[i + 2])) {
            out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

// The user-info part of the URL (before '@' in the authority), or "".
std::string_view user_info(std::string_view rest) {
    const auto authority_end = rest.find_first_of("/?");
    const std::string_view authority = rest.substr(0, authority_end);
    const auto at = authority.rfind('@');
    return at == std::string_view::npos ? std::string_view() : authority.substr(0, at);
}

// Whether the query string sets `password` (libpq's keyword, in any position).
bool query_has_password(std::string_view rest) {
    const auto question = rest.find('?');
    if (question == std::string_view::npos) {
        return false;
    }
    std::string_view query = rest.substr(question + 1);
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        if (percent_decoded(pair.substr(0, pair.find('='))) == "password") {
            return true;
        }
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    }
    return false;
}

} // namespace

void validate_store_url(std::string_view url) {
    std::string_view rest;
    for (const std::string_view scheme : {"postgresql://", "postgres://"}) {
        if (starts_with(url, scheme)) {
            rest = url.substr(scheme.size());
            break;
        }
    }
    if (rest.data() == nullptr) {
        throw UsageError("a store must be a postgresql:// or postgres:// URL (libpq's syntax), "
                         "or leave out --store and CACHEMAN_STORE for the store under --dir");
    }
    if (user_info(rest).find(':') != std::string_view::npos || query_has_password(rest)) {
        throw UsageError(std::string(k_password_help));
    }
}

bool names_store_url(std::string_view where) {
    return where.find("://") != std::string_view::npos;
}

Location store_location(std::string_view where, const std::string& name_space) {
    if (!names_store_url(where)) {
        if (where.empty()) {
            throw UsageError("a store must be a directory or a postgresql:// URL; it is empty");
        }
        return resolve_location(std::string(where), name_space);
    }
    validate_store_url(where);
    return {{}, name_space, std::string(where)};
}

std::optional<std::string> resolve_store(const std::optional<std::string>& store_option,
                                         const std::optional<std::string>& dir_option,
                                         const EnvLookup& env) {
    if (store_option && dir_option) {
        throw UsageError("--store and --dir cannot be given together: a store is a server or a "
                         "directory");
    }
    std::optional<std::string> url = store_option;
    if (!url && !dir_option) {
        url = env("CACHEMAN_STORE");
        if (url && url->empty()) {
            url.reset(); // empty counts as unset, as for the other variables
        }
    }
    if (url) {
        validate_store_url(*url);
    }
    return url;
}

} // namespace cacheman
