// Prints how long the template checks take: parseTdl on the example templates, and
// checkTemplateXml on a document at the size limit and on an oversized one.

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "core/template.hpp"

namespace {

using Clock = std::chrono::steady_clock;

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Prints the mean time per call of work. The throughput column is left out for work that
// rejects its input without reading it.
template <typename Work>
void measure(const char* label, size_t input_bytes, bool reads_input, int iterations, Work work) {
    auto start = Clock::now();
    for (int i = 0; i < iterations; ++i) {
        work();
    }
    std::chrono::duration<double, std::micro> elapsed = Clock::now() - start;
    double per_call = elapsed.count() / iterations;
    std::printf("%-36s %9zu bytes %10.1f us/call", label, input_bytes, per_call);
    if (reads_input) {
        std::printf(" %8.1f MB/s", input_bytes / per_call);
    }
    std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
    std::string examples = argc > 1 ? argv[1] : "examples";
    std::string custom = readFile(examples + "/debian12-custom.tdl");
    if (custom.empty()) {
        std::fprintf(stderr, "usage: template_bench [examples directory]\n");
        return 2;
    }
    if (!imagefactory::parseTdl(custom).ok()) {
        std::fprintf(stderr, "debian12-custom.tdl does not parse\n");
        return 1;
    }

    std::string head = "<template><name>big</name><description>";
    std::string tail = "</description></template>";
    std::string at_limit =
        head + std::string(imagefactory::kMaxTemplateBytes - head.size() - tail.size(), 'a') + tail;
    std::string oversized = head + std::string(10 << 20, 'a') + tail;

    measure("parseTdl debian12-custom.tdl", custom.size(), true, 20000,
            [&] { (void)imagefactory::parseTdl(custom); });
    measure("checkTemplateXml at 1 MiB limit", at_limit.size(), true, 200,
            [&] { (void)imagefactory::checkTemplateXml(at_limit); });
    measure("checkTemplateXml 10 MiB (rejected)", oversized.size(), false, 20000,
            [&] { (void)imagefactory::checkTemplateXml(oversized); });
    return 0;
}
