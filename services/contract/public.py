"""The RPC methods that answer anonymous callers: the one place they are declared.

Every other method of every service refuses a call without a valid identity
(``authorization: Bearer <jwt>`` in the context data) with ``Unauthorized``.
A public method still refuses an identity that is present but invalid (forged,
tampered, expired, wrong audience, unsigned): only *no* identity is anonymous.
"""

PUBLIC_RPC = {
    "service_desk": frozenset({
        "search_faq",          # the customers' self-service FAQ search (GET /faq)
        "top_faq",             # published entries only, most hit first
        "get_public_faq",      # one published entry: question, answer, category
        "survey_link_info",    # the signed single-use survey link is the credential
        "answer_survey_link",
    }),
}


def is_public(service, method):
    return method in PUBLIC_RPC.get(service, ())
