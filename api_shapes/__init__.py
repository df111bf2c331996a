"""Request and response shapes of AWS services, loaded from botocore's service models at run time.

Nothing here is copied by hand: `load_service("ecs")` reads the model botocore ships, and the
validator, the serializer and the request classes (requests.py: each input as named values) are
made from its shapes.
"""

from api_shapes.service import Operation, ServiceShapes, load_service
from api_shapes.validate import ShapeError

__all__ = ["Operation", "ServiceShapes", "ShapeError", "load_service"]
