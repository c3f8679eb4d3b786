"""Packages the addon as ``odoo.addons.outbound_campaign`` (and the PBX simulator as ``pbxsim``).

``pip install .`` beside an installed Odoo 18 makes the addon importable and visible to Odoo
without touching its addons path: ``odoo/addons`` is a namespace extended from every ``sys.path``
entry. Odoo itself is not declared here: it is a prerequisite (see README.md).
"""

import ast
import subprocess
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
MANIFEST = ast.literal_eval((HERE / "outbound_campaign" / "__manifest__.py").read_text())
ADDON_PACKAGES = ["outbound_campaign"] + [
    f"outbound_campaign.{package}" for package in find_packages(HERE / "outbound_campaign")
]


class BuildPyWithAssets(build_py):
    """Bundles the browser libraries from npm (scripts/build_assets.sh) before the files are copied:
    the bundle is built, never committed."""

    def run(self):
        subprocess.run(["bash", str(HERE / "scripts" / "build_assets.sh")], check=True)
        super().run()


setup(
    cmdclass={"build_py": BuildPyWithAssets},
    name="odoo-addon-outbound-campaign",
    version=MANIFEST["version"],
    description=MANIFEST["summary"],
    license="LGPL-3.0-only",
    python_requires=">=3.10",
    packages=[f"odoo.addons.{package}" for package in ADDON_PACKAGES] + find_packages(include=["pbxsim*"]),
    package_dir={f"odoo.addons.{package}": package.replace(".", "/") for package in ADDON_PACKAGES},
    # Views, data, security, demo and static files travel with the code.
    package_data={"odoo.addons.outbound_campaign": ["**/*"]},
    include_package_data=True,
    install_requires=[
        line
        for line in (HERE / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ],
    entry_points={"console_scripts": ["pbxsim = pbxsim.__main__:main"]},
)
