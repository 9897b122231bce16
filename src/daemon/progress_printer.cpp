#include "daemon/progress_printer.hpp"

namespace imagefactory {

std::string ProgressPrinter::label(const JobSnapshot& job) {
    return job.kind == JobKind::Build ? job.target : job.provider;
}

void ProgressPrinter::onJobCreated(const JobSnapshot& job) {
    std::lock_guard lock(mutex_);
    jobs_[job.id] = job;
}

void ProgressPrinter::onStatusChanged(const JobSnapshot& job, JobStatus old_status,
                                      JobStatus new_status) {
    std::lock_guard lock(mutex_);
    jobs_[job.id] = job;
    if (terminal_) {
        redraw();
        return;
    }
    std::fprintf(out_, "%s %s: %s -> %s\n", label(job).c_str(), job.id.c_str(),
                 std::string(jobStatusName(old_status)).c_str(),
                 std::string(jobStatusName(new_status)).c_str());
    std::fflush(out_);
}

void ProgressPrinter::onPercentChanged(const JobSnapshot& job, int percent_complete) {
    std::lock_guard lock(mutex_);
    jobs_[job.id] = job;
    if (terminal_) {
        redraw();
        return;
    }
    std::fprintf(out_, "%s %s: %d%%\n", label(job).c_str(), job.id.c_str(), percent_complete);
    std::fflush(out_);
}

void ProgressPrinter::onFailed(const JobSnapshot& job, const std::string& type,
                               const std::string& info) {
    std::lock_guard lock(mutex_);
    jobs_[job.id] = job;
    if (line_open_) {
        std::fputc('\n', out_);
        line_open_ = false;
    }
    std::fprintf(out_, "%s %s: failed (%s): %s\n", label(job).c_str(), job.id.c_str(), type.c_str(),
                 info.c_str());
    std::fflush(out_);
}

void ProgressPrinter::redraw() {
    constexpr int kBarWidth = 20;
    std::string line = "\r";
    for (const auto& [id, job] : jobs_) {
        int filled = job.percent_complete * kBarWidth / 100;
        line += label(job) + " [" + std::string(filled, '#') +
                std::string(kBarWidth - filled, ' ') + "] " + std::to_string(job.percent_complete) +
                "% " + std::string(jobStatusName(job.status)) + "  ";
    }
    // Clear what a longer earlier line left behind.
    line += "\033[K";
    std::fputs(line.c_str(), out_);
    std::fflush(out_);
    line_open_ = true;
}

void ProgressPrinter::finish() {
    std::lock_guard lock(mutex_);
    if (line_open_) {
        std::fputc('\n', out_);
        line_open_ = false;
    }
}

}  // namespace imagefactory
