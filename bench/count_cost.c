/* The cost of counting one lookup, isolated: the system calls that core/Stats.cpp's
 * count_lookup makes after every `get` and `run` lookup, and nothing else.
 *
 *   count_cost PATH ITERATIONS BATCHES
 *
 * Each iteration does exactly what count_lookup does: build the line "h\t<cache>\n",
 * open(PATH, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600), one write(2) of the line, close(2).
 * The ITERATIONS iterations of a batch are timed together with CLOCK_MONOTONIC; the program prints
 * one figure per batch, the microseconds per iteration, separated by spaces. bench/run takes the
 * median. PATH should be a file in a directory at the same depth and on the same file system as
 * the store's <ns>.counts file, so the path lookup costs the same.
 *
 * What it does not include: count_lookup's few hundred user-space instructions (building the path
 * string; bench/run counts them with callgrind instead), and whatever a cold, just-started process
 * pays more than this warm loop does. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: count_cost PATH ITERATIONS BATCHES\n");
        return 2;
    }
    const char *path = argv[1];
    const long iterations = strtol(argv[2], NULL, 10);
    const long batches = strtol(argv[3], NULL, 10);
    if (iterations <= 0 || batches <= 0) {
        fprintf(stderr, "count_cost: ITERATIONS and BATCHES must be positive\n");
        return 2;
    }
    static const char cache[] = "c";
    for (long b = 0; b < batches; ++b) {
        const double start = now();
        for (long i = 0; i < iterations; ++i) {
            char line[sizeof cache + 3];
            line[0] = 'h';
            line[1] = '\t';
            memcpy(line + 2, cache, sizeof cache - 1);
            line[sizeof cache + 1] = '\n';
            const int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
            if (fd < 0) {
                perror("count_cost: open");
                return 1;
            }
            if (write(fd, line, sizeof cache + 2) != (ssize_t)(sizeof cache + 2)) {
                perror("count_cost: write");
                return 1;
            }
            close(fd);
        }
        printf("%s%.4f", b ? " " : "", (now() - start) / (double)iterations * 1e6);
    }
    printf("\n");
    return 0;
}
