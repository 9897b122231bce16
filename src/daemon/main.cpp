#include "daemon/main.hpp"

namespace imagefactory {

int runImagefactory(int, char**) {
    return 0;
}

}  // namespace imagefactory
