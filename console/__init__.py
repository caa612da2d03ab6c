"""The marketing web console: server-rendered pages over the gRPC services (`recsys console`).

It holds no powers of its own: every page calls OfferService and AdminService with the
signed-in user's API key, so roles, validation and the audit trail are the server's.
"""
