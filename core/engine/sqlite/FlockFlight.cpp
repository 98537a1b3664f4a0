#include "engine/sqlite/FlockFlight.hpp"

#include "base/Error.hpp"
#include "proc/Interrupt.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cacheman::sqlite {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
    throw StoreError(what + ": " + std::strerror(errno) + " (" + path + ")");
}

bool is_unlinked(int fd, const std::string& path) {
    struct stat info {};
    if (fstat(fd, &info) != 0) {
        fail("cannot stat lock file", path);
    }
    return info.st_nlink == 0;
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
        ::unlink(m_path.c_str());
        ::close(m_fd); // closing the last descriptor releases the flock
    }
}

std::unique_ptr<engine::Flight> FlockFlights::join(const std::string& key) {
    return FlockFlight::enter(m_directory, key, true);
}

std::unique_ptr<engine::Flight> FlockFlights::try_lead(const std::string& key) {
    return FlockFlight::enter(m_directory, key, false);
}

std::unique_ptr<FlockFlight> FlockFlight::enter(const std::string& directory,
                                                const std::string& key, bool wait) {
    if (mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
        fail("cannot create flights directory", directory);
    }
    const std::string path = directory + "/" + key + ".lock";
    while (true) {
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            fail("cannot open lock file", path);
        }
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            if (is_unlinked(fd, path)) {
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
        if (!is_unlinked(fd, path)) {
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
    ::unlink(m_path.c_str());
    ::close(m_fd);
    m_fd = -1;
}

} // namespace cacheman::sqlite
