#include "engine/sqlite/LookupCounts.hpp"

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
        const std::string path = counts_path(location);
        const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            return;
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
    if (::rename(path.c_str(), taken.c_str()) != 0) {
        return counts; // nothing counted since the last fold
    }
    std::FILE* file = std::fopen(taken.c_str(), "r");
    if (file != nullptr) {
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
