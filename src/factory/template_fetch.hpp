#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace imagefactory {

inline constexpr int kMaxTemplateRedirects = 5;

// Downloads the template at url with an HTTP GET and returns the body, which has passed
// checkTemplateXml(). Only http and https are used, for the first request and for up to
// kMaxTemplateRedirects redirects. timeout_seconds bounds the connection and the whole
// transfer. A body larger than max_bytes is abandoned as soon as it passes the limit.
// Errors name the URL, with any user name and password replaced by "***". Their codes:
//   UserInput    the URL is not http(s), the body is too large or not a template, or a
//                redirect leads to another protocol or past the redirect limit.
//   NotFound     HTTP status 404 or 410.
//   ToolFailure  any other HTTP status of 400 or more.
//   Unavailable  the host cannot be resolved or reached, or the transfer timed out.
// Safe to call from several threads at once; each call uses its own curl handle.
Result<std::string> fetchTemplateUrl(const std::string& url, long timeout_seconds,
                                     size_t max_bytes);

// The id a template fetched from url is stored under: the first lowercase UUID inside the URL,
// as the original factory did, or empty when the URL contains none.
std::string templateIdFromUrl(std::string_view url);

// url with the user name and password part, if any, replaced by "***" so that it can be
// logged and shown in messages.
std::string redactUrl(std::string_view url);

}  // namespace imagefactory
