#include "daemon/main.hpp"

int main(int argc, char** argv) {
    return imagefactory::runImagefactory(argc, argv);
}
