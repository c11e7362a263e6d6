"""bench commands: `bench --site SITE erpnext-mcp import-seed config.json --profile NAME`."""

import click
from frappe.commands import get_site, pass_context


@click.group("erpnext-mcp")
def erpnext_mcp():
	"""ERPNext MCP administration."""


@erpnext_mcp.command("import-seed")
@click.argument("config_path", type=click.Path(exists=True, dir_okay=False))
@click.option(
	"--profile", "profile_name", required=True, help="Name of the MCP Permission Profile to create or replace"
)
@click.option("--roles", default="", help="Comma-separated roles the profile applies to")
@click.option("--users", default="", help="Comma-separated users the profile applies to")
@pass_context
def import_seed(context, config_path, profile_name, roles, users):
	"""Import the permissions block of a seed config.json as an MCP Permission Profile."""
	import frappe

	from erpnext_mcp.api.profiles import import_seed_into_profile

	site = get_site(context)
	frappe.init(site=site)
	frappe.connect()
	try:
		frappe.set_user("Administrator")
		with open(config_path) as f:
			report = import_seed_into_profile(f.read(), profile_name, roles=roles, users=users)
		frappe.db.commit()
	finally:
		frappe.destroy()
	click.echo(f"Profile {report['profile']}: {report['rules']} rules, {report['conditions']} conditions")
	for message in report["unmapped"]:
		click.secho(f"  not mapped: {message}", fg="yellow")


@erpnext_mcp.command("stdio")
@click.option(
	"--user", required=True, help="The ERPNext user the session runs as (its roles and profiles apply)"
)
@pass_context
def stdio(context, user):
	"""Serve MCP over stdin/stdout as USER, for local clients (Claude Desktop/Code) on this server."""
	import sys

	import frappe

	from erpnext_mcp.data.frappe_backend import FrappeBackend
	from erpnext_mcp.data.profiles import policy_for
	from erpnext_mcp.data.settings import administrator_allowed, load_settings
	from erpnext_mcp.server.context import CallState
	from erpnext_mcp.server.stdio import serve

	frappe.init(site=get_site(context))
	frappe.connect()
	try:
		if not frappe.db.get_value("User", user, "enabled"):
			sys.exit(f"erpnext-mcp stdio: {user} is not an enabled user of this site")
		if user == "Administrator" and not administrator_allowed():
			sys.exit("erpnext-mcp stdio: the Administrator user may not use MCP (see MCP Settings)")
		if not load_settings().enabled:
			sys.exit("erpnext-mcp stdio: the MCP server is disabled on this site (MCP Settings)")

		def make_state() -> CallState:
			frappe.set_user(user)
			return CallState(
				backend=FrappeBackend(),
				policy=policy_for(user),
				settings=load_settings(),
				headers={},
				protocol_version="stdio",
			)

		def finish(state: CallState) -> None:
			record_stdio_call(state)
			frappe.db.commit()

		serve(make_state, finish)
	finally:
		frappe.destroy()


def record_stdio_call(state) -> None:
	"""The audit record for one stdio message, through the app's one audit writer when present."""
	try:
		from erpnext_mcp import audit
	except ImportError:
		return
	recorder = getattr(audit, "record_state", None)
	if recorder is not None:
		recorder(state, transport="stdio")


commands = [erpnext_mcp]
