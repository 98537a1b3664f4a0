#include "base/Clock.hpp"

#include "base/Error.hpp"

#include <charconv>
#include <chrono>
#include <string_view>

namespace cacheman {

namespace {

// 9999-12-31 23:59:59 UTC: every later time would print with a five-digit year.
constexpr double k_max_unix_seconds = 253'402'300'799.0;

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Digits, optionally followed by a '.' and more digits: no sign, exponent or spaces.
bool is_plain_decimal(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size() && is_digit(text[i])) {
        ++i;
    }
    if (i == 0) {
        return false;
    }
    if (i == text.size()) {
        return true;
    }
    if (text[i] != '.' || i + 1 == text.size()) {
        return false;
    }
    for (++i; i < text.size(); ++i) {
        if (!is_digit(text[i])) {
            return false;
        }
    }
    return true;
}

// `text` as unix seconds, or nullopt when it is not a plain decimal in range.
std::optional<double> parse_unix_seconds(std::string_view text) {
    if (!is_plain_decimal(text)) {
        return std::nullopt;
    }
    double seconds = 0;
    const char* end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, seconds, std::chars_format::fixed);
    if (error != std::errc() || stop != end || seconds > k_max_unix_seconds) {
        return std::nullopt;
    }
    return seconds;
}

} // namespace

std::optional<double> test_clock_time(const EnvLookup& env) {
    if (env("CACHEMAN_TEST") != "1") {
        return std::nullopt;
    }
    const auto text = env("CACHEMAN_NOW");
    if (!text || text->empty()) {
        return std::nullopt;
    }
    const auto seconds = parse_unix_seconds(*text);
    if (!seconds) {
        throw UsageError("invalid CACHEMAN_NOW '" + *text +
                         "': the test clock (CACHEMAN_TEST=1) takes unix seconds up to the year "
                         "9999, e.g. 1700000000 or 1700000000.25");
    }
    return seconds;
}

std::optional<double> process_test_clock_time() {
    // Read once: a `get` reads the clock on every lookup and must not pay for getenv each time.
    // An invalid value throws from the initializer, so every call reports it again.
    static const std::optional<double> k_time = test_clock_time(process_env);
    return k_time;
}

double unix_now(const Clock& clock) {
    if (clock) {
        return clock();
    }
    if (const auto test_time = process_test_clock_time()) {
        return *test_time;
    }
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

} // namespace cacheman
