#pragma once

#include "core/error.hpp"
#include "qmf/value.hpp"

// QMF predicates: the agent filter of a locate request and the _where of a query.
//
// A predicate is a list whose first element names the operator. An operand is a property name
// (looked up in the map under test) or a literal written [quote, value]. Names, operators and
// quoted text may be string or binary. Operators:
//   and / or / not  zero or more sub-predicates (all true / any true / none true)
//   eq, ne          two operands that exist, compared by their text forms
//   lt, le, gt, ge  two operands that exist, compared as integers, as floating point or as
//                   text when both are of that kind; text against a number is compared
//                   numerically when the text parses as that kind of number; any other mix
//                   (an integer against a float included) is false
//   exists          one property name that is present
//   re_match        always false, as in the reference C++ library
//   true, false     no operands
// An empty list is true. An unknown operator, a wrong operand count, an operand that is
// neither a name nor a quote list, or nesting deeper than kMaxPredicateDepth is an error
// (code UserInput) naming the problem.
namespace imagefactory::qmf {

inline constexpr size_t kMaxPredicateDepth = 32;

Result<bool> evaluatePredicate(const List& predicate, const Map& values);

// Same, for a predicate that arrived as a Value; anything but a list is an error.
Result<bool> evaluatePredicate(const Value& predicate, const Map& values);

}  // namespace imagefactory::qmf
