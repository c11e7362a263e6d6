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


commands = [erpnext_mcp]
