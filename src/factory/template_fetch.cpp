#include "factory/template_fetch.hpp"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include "core/logging.hpp"
#include "core/template.hpp"
#include "core/text.hpp"
#include "core/uuid.hpp"

namespace imagefactory {
namespace {

constexpr size_t kMaxQuotedUrlChars = 200;

struct CurlFree {
    void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};

// The body collected by the write callback, and whether it went past the size limit.
struct Download {
    std::string body;
    size_t max_bytes = 0;
    bool too_large = false;
};

size_t onBodyData(char* data, size_t size, size_t count, void* user_data) {
    auto* download = static_cast<Download*>(user_data);
    size_t length = size * count;
    if (download->body.size() + length > download->max_bytes) {
        // Returning less than length makes curl abort the transfer with CURLE_WRITE_ERROR.
        download->too_large = true;
        return 0;
    }
    download->body.append(data, length);
    return length;
}

void initCurlOnce() {
    // curl_global_init is not thread-safe on every libcurl build, so only the first call runs
    // it.
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Error transferError(CURLcode code, const char* detail, const Download& download,
                    const std::string& shown_url, long timeout_seconds, size_t max_bytes) {
    std::string reason = detail[0] != '\0' ? detail : curl_easy_strerror(code);
    switch (code) {
        case CURLE_WRITE_ERROR:
        case CURLE_FILESIZE_EXCEEDED:
            if (download.too_large || code == CURLE_FILESIZE_EXCEEDED) {
                return userError("template at " + shown_url + " is larger than the limit of " +
                                 std::to_string(max_bytes) + " bytes");
            }
            break;
        case CURLE_OPERATION_TIMEDOUT:
            return {ErrorCode::Unavailable, "timed out after " + std::to_string(timeout_seconds) +
                                                " s fetching a template from " + shown_url + ": " +
                                                reason};
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
            return {ErrorCode::Unavailable,
                    "could not connect to fetch a template from " + shown_url + ": " + reason};
        case CURLE_TOO_MANY_REDIRECTS:
            return userError("more than " + std::to_string(kMaxTemplateRedirects) +
                             " redirects fetching a template from " + shown_url);
        case CURLE_UNSUPPORTED_PROTOCOL:
            return userError("fetching a template from " + shown_url +
                             " led to a protocol other than http or https: " + reason);
        default:
            break;
    }
    return {ErrorCode::Unavailable, "failed to fetch a template from " + shown_url + ": " + reason};
}

}  // namespace

std::string redactUrl(std::string_view url) {
    size_t scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) {
        return std::string(url);
    }
    size_t authority_start = scheme_end + 3;
    size_t authority_end = url.find_first_of("/?#", authority_start);
    if (authority_end == std::string_view::npos) {
        authority_end = url.size();
    }
    size_t at = url.rfind('@', authority_end - 1);
    if (at == std::string_view::npos || at < authority_start) {
        return std::string(url);
    }
    return std::string(url.substr(0, authority_start)) + "***" + std::string(url.substr(at));
}

std::string templateIdFromUrl(std::string_view url) {
    return findUuid(url);
}

Result<std::string> fetchTemplateUrl(const std::string& url, long timeout_seconds,
                                     size_t max_bytes) {
    const std::string shown_url = quoteValue(redactUrl(url), kMaxQuotedUrlChars);
    if (!startsWithNoCase(url, "http://") && !startsWithNoCase(url, "https://")) {
        return userError("template URL " + shown_url + " must start with http:// or https://");
    }
    for (char c : url) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            return userError("template URL " + shown_url +
                             " contains a space or control character; percent-encode it");
        }
    }
    if (timeout_seconds <= 0) {
        return userError("template fetch timeout must be at least 1 second, got " +
                         std::to_string(timeout_seconds));
    }

    initCurlOnce();
    std::unique_ptr<CURL, CurlFree> handle(curl_easy_init());
    if (!handle) {
        return internalError("could not create a curl handle to fetch " + shown_url);
    }

    Download download;
    download.max_bytes = max_bytes;
    char error_buffer[CURL_ERROR_SIZE] = {};
    CURL* curl = handle.get();
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, static_cast<long>(kMaxTemplateRedirects));
    // Signals would be the only way to time out name resolution without the threaded
    // resolver, and they are not safe in a multithreaded daemon.
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, timeout_seconds);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_seconds);
    // A server that announces a larger Content-Length is rejected before any body arrives.
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_bytes));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBodyData);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &download);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "imagefactory");

    auto logger = componentLogger("factory");
    logger->debug("fetching template url={}", redactUrl(url));
    CURLcode code = curl_easy_perform(curl);
    if (code != CURLE_OK) {
        return transferError(code, error_buffer, download, shown_url, timeout_seconds, max_bytes);
    }

    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    logger->debug("fetched template url={} status={} bytes={}", redactUrl(url), status,
                  download.body.size());
    if (status == 404 || status == 410) {
        return notFound("received HTTP status " + std::to_string(status) +
                        " fetching a template from " + shown_url);
    }
    if (status >= 400) {
        return toolFailure("received HTTP status " + std::to_string(status) +
                           " fetching a template from " + shown_url);
    }

    Status checked = checkTemplateXml(download.body);
    if (!checked) {
        return userError("the document at " + shown_url +
                         " is not a usable template: " + checked.error().message);
    }
    return std::move(download.body);
}

}  // namespace imagefactory
