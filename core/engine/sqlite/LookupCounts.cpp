#include "engine/sqlite/LookupCounts.hpp"

#include "base/Posix.hpp"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

namespace cacheman {

std::string counts_path(const Location& location) {
    return location.dir + "/" + location.name_space + ".counts";
}

void count_lookup(const Location& location, std::string_view cache, bool hit) noexcept {
    try {
        std::string line;
        line.reserve(cache.size() + 3);
        line += hit ? "h\t" : "m\t";
        line += cache; // cache names hold no control characters: one line each
        line += '\n';
        // A counts file that is not safe (a symbolic link, another user's) is never written:
        // open_safe throws, and `stats` reports it.
        const int fd =
            open_safe(counts_path(location), O_WRONLY | O_APPEND | O_CREAT, "counts file", true);
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

std::map<std::string, LookupCounts> take_counts(const Location& location) {
    std::map<std::string, LookupCounts> counts;
    const std::string path = counts_path(location);
    const std::string taken = path + ".folding." + std::to_string(getpid());
    if (!require_safe_path(path, FileType::regular, "counts file", true)) {
        return counts; // nothing counted since the last fold
    }
    if (::rename(path.c_str(), taken.c_str()) != 0) {
        return counts; // taken by another fold
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
    return counts;
}

} // namespace cacheman
