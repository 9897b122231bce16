#pragma once

namespace imagefactory {

// The imagefactory program: the one-shot command line, or the QMF daemon with --qmf.
int runImagefactory(int argc, char** argv);

}  // namespace imagefactory
