#pragma once

namespace imagefactory {

// The imagefactory-console program: a QMF2 console for the Image Factory agent (list agents,
// build, push, import, watch events, query status, abort). Returns the exit status.
int runConsole(int argc, char** argv);

}  // namespace imagefactory
