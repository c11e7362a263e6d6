"""ERPNext's own document conversions the make_document tool may call: (source, target) → the
mapping method ERPNext's "Create" buttons call in Desk. An allow-list: no other method is ever
called, whatever a client asks. Pure data (no Frappe import), so tier 1 reads the same list."""

from __future__ import annotations

CONVERSIONS: dict[tuple[str, str], str] = {
	("Quotation", "Sales Order"): "erpnext.selling.doctype.quotation.quotation.make_sales_order",
	("Sales Order", "Sales Invoice"): "erpnext.selling.doctype.sales_order.sales_order.make_sales_invoice",
	("Sales Order", "Delivery Note"): "erpnext.selling.doctype.sales_order.sales_order.make_delivery_note",
	(
		"Delivery Note",
		"Sales Invoice",
	): "erpnext.stock.doctype.delivery_note.delivery_note.make_sales_invoice",
	("Purchase Order", "Purchase Invoice"): (
		"erpnext.buying.doctype.purchase_order.purchase_order.make_purchase_invoice"
	),
	("Purchase Order", "Purchase Receipt"): (
		"erpnext.buying.doctype.purchase_order.purchase_order.make_purchase_receipt"
	),
}


def conversion_method(source_doctype: str, target_doctype: str) -> str | None:
	return CONVERSIONS.get((source_doctype, target_doctype))


def conversions_text() -> str:
	"""The allowed pairs, as a tool description and an error message list them."""
	return "; ".join(f"{s} → {t}" for s, t in CONVERSIONS)
