#include "engine/sqlite/FlockFlight.hpp"

#include "base/Error.hpp"
#include "base/Posix.hpp"
#include "proc/Interrupt.hpp"

#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cacheman::sqlite {

namespace {

constexpr std::string_view k_suffix = ".lock";

[[noreturn]] void fail(const std::string& what, const std::string& path) {
    throw StoreError(system_message(what, path));
}

// Whether `path` still names the file open as `fd`. Only the holder of the lock on the file a
// path names unlinks that path, so a file that a path no longer names (or that another file
// replaced there) never gets a lock file back: whoever holds its lock knows its leader ended.
bool is_current(int fd, const std::string& path) {
    struct stat open_file {};
    if (fstat(fd, &open_file) != 0) {
        fail("cannot stat lock file", path);
    }
    struct stat named {};
    if (lstat(path.c_str(), &named) != 0) {
        if (errno == ENOENT) {
            return false;
        }
        fail("cannot stat lock file", path);
    }
    return open_file.st_dev == named.st_dev && open_file.st_ino == named.st_ino;
}

// Removes the lock files that no process holds: left by leaders that were killed. Each is
// removed while holding its lock and only if its path still names it, as a leader removes its
// own; a process waiting on one then finds it removed and empty, and joins again. Best effort.
void sweep(const std::string& directory) noexcept {
    const std::unique_ptr<DIR, int (*)(DIR*)> handle(opendir(directory.c_str()), &closedir);
    if (!handle) {
        return;
    }
    while (const dirent* entry = readdir(handle.get())) {
        const std::string_view name(entry->d_name);
        if (name.size() <= k_suffix.size() ||
            name.substr(name.size() - k_suffix.size()) != k_suffix) {
            continue;
        }
        try {
            const std::string path = directory + "/" + std::string(name);
            const int fd = ::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
            if (fd < 0) {
                continue;
            }
            bool dead = false;
            try {
                dead = flock(fd, LOCK_EX | LOCK_NB) == 0 && is_current(fd, path);
            } catch (const StoreError&) {
                // left for the next run of its key
            }
            if (dead) {
                ::unlink(path.c_str());
            }
            ::close(fd);
        } catch (...) {
            return; // out of memory: a lock file left behind is reused by the next run of its key
        }
    }
}

std::string read_all(int fd, const std::string& path) {
    std::string data;
    char buffer[1 << 16];
    off_t offset = 0;
    while (true) {
        const ssize_t got = pread(fd, buffer, sizeof buffer, offset);
        if (got == 0) {
            return data;
        }
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            fail("cannot read lock file", path);
        }
        data.append(buffer, static_cast<std::size_t>(got));
        offset += got;
    }
}

} // namespace

FlockFlight::FlockFlight(int fd, std::string path, Role role, std::string result)
    : m_fd(fd), m_path(std::move(path)), m_role(role), m_result(std::move(result)) {}

FlockFlight::~FlockFlight() {
    if (m_fd >= 0) {
        // A leader leaving without a result: unlink the (empty) file so that no lock files pile
        // up; waiters holding it see it empty and unlinked, and join again.
        end();
    }
}

void FlockFlight::end() noexcept {
    ::unlink(m_path.c_str());
    ::close(m_fd); // closing the last descriptor releases the flock
    m_fd = -1;
    sweep(m_path.substr(0, m_path.find_last_of('/')));
}

std::unique_ptr<engine::Flight> FlockFlights::join(const std::string& key) {
    return FlockFlight::enter(m_directory, key, true);
}

std::unique_ptr<engine::Flight> FlockFlights::try_lead(const std::string& key) {
    return FlockFlight::enter(m_directory, key, false);
}

std::unique_ptr<FlockFlight> FlockFlight::enter(const std::string& directory,
                                                const std::string& key, bool wait) {
    // A result is read from a lock file: both are used only when nobody else can write them.
    ensure_directory(directory, "flights directory");
    const std::string path = directory + "/" + key + std::string(k_suffix);
    while (true) {
        const int fd = open_safe(path, O_RDWR | O_CREAT, "lock file");
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            if (!is_current(fd, path)) {
                ::close(fd); // a leader just finished with this file: start over on a new one
                continue;
            }
            return std::make_unique<FlockFlight>(fd, path, Role::leader, std::string());
        }
        if (errno != EWOULDBLOCK) {
            ::close(fd);
            fail("cannot lock", path);
        }
        if (!wait) {
            ::close(fd);
            return nullptr;
        }
        while (flock(fd, LOCK_EX) != 0) {
            if (errno != EINTR || interrupted()) {
                ::close(fd);
                if (interrupted()) {
                    throw Interrupted("interrupted while waiting for the same command to finish");
                }
                fail("cannot lock", path);
            }
        }
        if (is_current(fd, path)) {
            return std::make_unique<FlockFlight>(fd, path, Role::leader,
                                                 std::string()); // the leader died without a result
        }
        std::string result = read_all(fd, path);
        ::close(fd);
        if (!result.empty()) {
            return std::make_unique<FlockFlight>(-1, path, Role::follower, std::move(result));
        }
        // The leader left without running anything (it found the result stored, or was
        // interrupted): join again, and look at the store again as leader.
    }
}

void FlockFlight::publish(std::string_view bytes) {
    if (m_fd < 0 || m_role != Role::leader) {
        return;
    }
    bool written = ftruncate(m_fd, 0) == 0;
    std::size_t offset = 0;
    while (written && offset < bytes.size()) {
        const ssize_t put =
            pwrite(m_fd, bytes.data() + offset, bytes.size() - offset, static_cast<off_t>(offset));
        if (put < 0 && errno == EINTR) {
            continue;
        }
        written = put > 0;
        offset += written ? static_cast<std::size_t>(put) : 0;
    }
    if (!written) {
        (void)ftruncate(m_fd, 0); // followers find it empty and join again
    }
    end();
}

} // namespace cacheman::sqlite
