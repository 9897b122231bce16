#include "daemon/console.hpp"

int main(int argc, char** argv) {
    return imagefactory::runConsole(argc, argv);
}
