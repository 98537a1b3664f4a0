// cacheman: the binary is the library plus this main().
#include "App.hpp"

int main(int argc, char** argv) {
    return cacheman::cli::run(argc, argv);
}
