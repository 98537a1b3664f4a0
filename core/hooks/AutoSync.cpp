#include "hooks/AutoSync.hpp"

#include "base/Error.hpp"

#include <algorithm>
#include <cmath>

namespace cacheman {

namespace {

std::int64_t parse_positive(std::string_view text, std::string_view spec) {
    if (text.empty() || text.size() > 12 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        throw UsageError("invalid --autosync-checks '" + std::string(spec) +
                         "': expected WINDOW_SECONDS:EDITS[,...], e.g. 60:10000,300:10,900:1");
    }
    const std::int64_t value = std::stoll(std::string(text));
    if (value <= 0) {
        throw UsageError("invalid --autosync-checks '" + std::string(spec) +
                         "': windows and counts must be positive");
    }
    return value;
}

} // namespace

const std::vector<TimeCheck>& default_time_checks() {
    static const std::vector<TimeCheck> k_defaults{{60, 10000}, {300, 10}, {900, 1}};
    return k_defaults;
}

std::vector<TimeCheck> parse_time_checks(std::string_view spec) {
    std::vector<TimeCheck> checks;
    std::string_view rest = spec;
    while (true) {
        const auto comma = rest.find(',');
        const std::string_view item = rest.substr(0, comma);
        const auto colon = item.find(':');
        if (colon == std::string_view::npos) {
            parse_positive("", spec); // throws the format message
        }
        checks.push_back({parse_positive(item.substr(0, colon), spec),
                          parse_positive(item.substr(colon + 1), spec)});
        if (comma == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(comma + 1);
    }
    std::sort(checks.begin(), checks.end(), [](const TimeCheck& a, const TimeCheck& b) {
        return a.window_seconds < b.window_seconds;
    });
    for (std::size_t i = 1; i < checks.size(); ++i) {
        if (checks[i].window_seconds == checks[i - 1].window_seconds) {
            throw UsageError("invalid --autosync-checks '" + std::string(spec) +
                             "': a window is given twice");
        }
    }
    return checks;
}

std::string format_time_checks(const std::vector<TimeCheck>& checks) {
    std::string out;
    for (const auto& check : checks) {
        out += out.empty() ? "" : ",";
        out += std::to_string(check.window_seconds) + ":" + std::to_string(check.count);
    }
    return out;
}

EditWindow::EditWindow(std::vector<TimeCheck> checks, std::int64_t bucket_seconds)
    : m_checks(std::move(checks)), m_bucket_seconds(std::max<std::int64_t>(1, bucket_seconds)) {}

std::int64_t EditWindow::bucket_of(double when) const {
    const auto second = static_cast<std::int64_t>(std::floor(when));
    return second - (((second % m_bucket_seconds) + m_bucket_seconds) % m_bucket_seconds);
}

std::int64_t EditWindow::longest_window() const {
    return m_checks.empty() ? 0 : m_checks.back().window_seconds;
}

void EditWindow::record(double when, std::int64_t count, double now) {
    const double age = now - when;
    if (age < 0 || age >= static_cast<double>(longest_window())) {
        return;
    }
    m_buckets[bucket_of(when)] += count;
}

bool EditWindow::save_due(double now) const {
    const std::int64_t current = bucket_of(now);
    std::int64_t band_start = 0;
    for (const auto& check : m_checks) {
        std::int64_t edits = 0;
        for (const auto& [bucket, count] : m_buckets) {
            const std::int64_t age = current - bucket; // whole buckets, like the seed's snapping
            if (age >= band_start && age < check.window_seconds) {
                edits += count;
            }
        }
        if (edits >= check.count) {
            return true;
        }
        band_start = check.window_seconds;
    }
    return false;
}

void EditWindow::prune(double now) {
    const std::int64_t oldest = bucket_of(now) - longest_window();
    for (auto it = m_buckets.begin(); it != m_buckets.end();) {
        it = it->first <= oldest ? m_buckets.erase(it) : std::next(it);
    }
}

} // namespace cacheman
