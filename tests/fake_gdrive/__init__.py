"""A small fake of Google's token endpoint and Drive v3, for tests of the gdrive upload target.

The real google-auth and google-api-python-client talk to it over HTTPS (a throwaway CA, trusted
through httplib2's HTTPLIB2_CA_CERTS). In-process: `with FakeGoogle(tmp_path) as fake: ...`.
As a service (compose end-to-end test): `python -m tests.fake_gdrive --help`.
"""

from .drive import FOLDER, DriveError, Item
from .server import DRIVE_SCOPE, FakeGoogle, Fault

__all__ = ["DRIVE_SCOPE", "FOLDER", "DriveError", "FakeGoogle", "Fault", "Item"]
