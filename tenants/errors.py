"""The tenants app's error, with a stable code for the API's single error shape."""


class TenantsError(Exception):
    def __init__(self, code: str, message: str, *, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
