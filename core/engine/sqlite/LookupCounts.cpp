#include "engine/sqlite/LookupCounts.hpp"

#include "base/Posix.hpp"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

namespace cacheman {

namespace {

void append_escaped(std::string& line, std::string_view key) {
    for (const char c : key) {
        if (c == '\\') {
            line += "\\\\";
        } else if (c == '\n') {
            line += "\\n";
        } else {
            line += c;
        }
    }
}

std::string unescaped(std::string_view text) {
    std::string key;
    key.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) {
            ++i;
            key += text[i] == 'n' ? '\n' : text[i];
        } else {
            key += text[i];
        }
    }
    return key;
}

} // namespace

void Lookups::add(std::string_view cache, std::optional<std::string_view> key, bool hit) {
    auto& count = counts[std::string(cache)];
    (hit ? count.hits : count.misses) += 1;
    if (hit && key) {
        uses.emplace_back(cache, *key);
    }
}

std::string counts_path(const Location& location) {
    return location.dir + "/" + location.name_space + ".counts";
}

void count_lookup(const std::string& path, std::string_view cache,
                  std::optional<std::string_view> key, bool hit) noexcept {
    try {
        std::string line;
        line.reserve(cache.size() + (key ? key->size() : 0) + 4);
        const bool used = hit && key;
        line += used ? "H\t" : hit ? "h\t" : "m\t";
        line += cache; // cache names hold no control characters: one line each
        if (used) {
            line += '\t'; // no cache name holds a tab
            append_escaped(line, *key);
        }
        line += '\n';
        // A counts file that is not safe (a symbolic link, another user's) is never written:
        // open_safe throws, and `stats` reports it.
        const int fd = open_safe(path, O_WRONLY | O_APPEND | O_CREAT, "counts file", true);
        if (fd < 0) {
            return; // no store directory
        }
        // One write with O_APPEND: concurrent lines never interleave.
        (void)!::write(fd, line.data(), line.size());
        ::close(fd);
    } catch (...) {
        // Counting must never make a lookup fail.
    }
}

void take_counts(const std::string& path, Lookups& lookups) {
    auto& counts = lookups.counts;
    const std::string taken = path + ".folding." + std::to_string(getpid());
    if (!require_safe_path(path, FileType::regular, "counts file", true)) {
        return; // nothing counted since the last fold
    }
    if (::rename(path.c_str(), taken.c_str()) != 0) {
        return; // taken by another fold
    }
    int fd = -1;
    try {
        fd = open_safe(taken, O_RDONLY, "counts file");
    } catch (...) {
        ::unlink(taken.c_str());
        throw;
    }
    std::FILE* file = fdopen(fd, "r");
    if (file == nullptr) {
        ::close(fd);
    } else {
        char* line = nullptr;
        std::size_t capacity = 0;
        ssize_t length = 0;
        while ((length = getline(&line, &capacity, file)) > 2) {
            const std::string_view text(line, static_cast<std::size_t>(length) - 1);
            if (text[0] == 'H' && text[1] == '\t') {
                const auto tab = text.find('\t', 2);
                if (tab != std::string_view::npos) {
                    const std::string cache(text.substr(2, tab - 2));
                    lookups.counts[cache].hits += 1;
                    lookups.uses.emplace_back(cache, unescaped(text.substr(tab + 1)));
                }
                continue;
            }
            if (text[1] != '\t' || (text[0] != 'h' && text[0] != 'm')) {
                continue;
            }
            auto& entry = counts[std::string(text.substr(2))];
            (text[0] == 'h' ? entry.hits : entry.misses) += 1;
        }
        std::free(line);
        std::fclose(file);
    }
    ::unlink(taken.c_str());
}

} // namespace cacheman
