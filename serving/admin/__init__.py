"""recsys.v1.AdminService: who is calling, the catalog, model versions, a customer's decisions."""
