"""The API resources, sync and async side by side; each method hands one operation to its client.

The request and the reading of its answer live in :mod:`._ops`, written once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ac_segment_export.client import _ops as ops

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator, Sequence

    from ac_segment_export._core.wire import (
        BulkImportContact,
        BulkImportInfo,
        BulkImportOverview,
        BulkImportQueued,
        Contact,
        ContactInput,
        CustomField,
        FieldValue,
        ListMembership,
        MailingList,
        MembershipStatus,
        User,
    )
    from ac_segment_export.client._client import AsyncClient, Client

__all__ = [
    "AsyncBulkImport",
    "AsyncContacts",
    "AsyncFields",
    "AsyncLists",
    "AsyncMemberships",
    "AsyncUsers",
    "BulkImport",
    "Contacts",
    "Fields",
    "Lists",
    "Memberships",
    "Users",
]


class _Resource:
    def __init__(self, client: Client) -> None:
        self._client = client


class _AsyncResource:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client


class Users(_Resource):
    """``/users``."""

    def me(self) -> User:
        """The user the API key belongs to; the cheapest check that a key works.

        Raises:
            AuthenticationError: The key was refused.
        """
        return self._client.call(ops.users_me())


class AsyncUsers(_AsyncResource):
    """``/users`` (async)."""

    async def me(self) -> User:
        """The user the API key belongs to; see :meth:`Users.me`."""
        return await self._client.call(ops.users_me())


class Lists(_Resource):
    """``/lists``."""

    def get(self, list_id: int) -> MailingList:
        """One list by ID.

        Raises:
            NotFoundError: There is no list with this ID.
        """
        return self._client.call(ops.lists_get(list_id))

    def iterate(self, *, name: str | None = None) -> Iterator[MailingList]:
        """Every list (optionally filtered by name), 100 a page."""
        return self._client.paginate(ops.lists_pager(name=name))

    def create(
        self,
        name: str,
        *,
        stringid: str | None = None,
        sender_url: str = "",
        sender_reminder: str = "",
    ) -> MailingList:
        """Create a list. Not retried once it may have reached the server."""
        return self._client.call(
            ops.lists_create(
                name, stringid=stringid, sender_url=sender_url, sender_reminder=sender_reminder
            )
        )


class AsyncLists(_AsyncResource):
    """``/lists`` (async)."""

    async def get(self, list_id: int) -> MailingList:
        """One list by ID; see :meth:`Lists.get`."""
        return await self._client.call(ops.lists_get(list_id))

    def iterate(self, *, name: str | None = None) -> AsyncIterator[MailingList]:
        """Every list, 100 a page."""
        return self._client.paginate(ops.lists_pager(name=name))

    async def create(
        self,
        name: str,
        *,
        stringid: str | None = None,
        sender_url: str = "",
        sender_reminder: str = "",
    ) -> MailingList:
        """Create a list; see :meth:`Lists.create`."""
        return await self._client.call(
            ops.lists_create(
                name, stringid=stringid, sender_url=sender_url, sender_reminder=sender_reminder
            )
        )


class Contacts(_Resource):
    """``/contacts`` and ``/contact/sync``."""

    def get(self, contact_id: int) -> Contact:
        """One contact by ID."""
        return self._client.call(ops.contacts_get(contact_id))

    def find(self, email: str) -> Contact | None:
        """The contact with this email, or ``None``."""
        return self._client.call(ops.contacts_find(email))

    def iterate(
        self,
        *,
        email: str | None = None,
        list_id: int | None = None,
        status: MembershipStatus | int | None = None,
        by_id: bool = True,
    ) -> Iterator[Contact]:
        """Every contact matching the filters.

        Args:
            email: Only the contact with this email.
            list_id: Only members of this list.
            status: With ``list_id``, only members with this status in it.
            by_id: Page by ascending ID with ``id_greater`` (stable and cheap for large
                scans); ``False`` pages by offset.
        """
        return self._client.paginate(
            ops.contacts_pager(email=email, list_id=list_id, status=status, by_id=by_id)
        )

    def create(self, contact: ContactInput) -> Contact:
        """Create a contact; never retried once it may have been processed.

        A repeat would fail as a duplicate; use :meth:`sync` for a retry-safe
        create-or-update.
        """
        return self._client.call(ops.contacts_create(contact))

    def sync(self, contact: ContactInput) -> Contact:
        """Create or update the contact with this email (safe to repeat)."""
        return self._client.call(ops.contacts_sync(contact))

    def update(self, contact_id: int, contact: ContactInput) -> Contact:
        """Update a contact; fields left ``None`` are not sent."""
        return self._client.call(ops.contacts_update(contact_id, contact))

    def delete(self, contact_id: int) -> None:
        """Delete a contact."""
        self._client.call(ops.contacts_delete(contact_id))

    def memberships(self, contact_id: int) -> list[ListMembership]:
        """The contact's status in each of its lists."""
        return self._client.call(ops.contacts_memberships(contact_id))

    def field_values(self, contact_id: int) -> list[FieldValue]:
        """The contact's custom-field values."""
        return self._client.call(ops.contacts_field_values(contact_id))


class AsyncContacts(_AsyncResource):
    """``/contacts`` and ``/contact/sync`` (async)."""

    async def get(self, contact_id: int) -> Contact:
        """One contact by ID."""
        return await self._client.call(ops.contacts_get(contact_id))

    async def find(self, email: str) -> Contact | None:
        """The contact with this email, or ``None``."""
        return await self._client.call(ops.contacts_find(email))

    def iterate(
        self,
        *,
        email: str | None = None,
        list_id: int | None = None,
        status: MembershipStatus | int | None = None,
        by_id: bool = True,
    ) -> AsyncIterator[Contact]:
        """Every contact matching the filters; see :meth:`Contacts.iterate`."""
        return self._client.paginate(
            ops.contacts_pager(email=email, list_id=list_id, status=status, by_id=by_id)
        )

    async def create(self, contact: ContactInput) -> Contact:
        """Create a contact; see :meth:`Contacts.create`."""
        return await self._client.call(ops.contacts_create(contact))

    async def sync(self, contact: ContactInput) -> Contact:
        """Create or update the contact with this email (safe to repeat)."""
        return await self._client.call(ops.contacts_sync(contact))

    async def update(self, contact_id: int, contact: ContactInput) -> Contact:
        """Update a contact; fields left ``None`` are not sent."""
        return await self._client.call(ops.contacts_update(contact_id, contact))

    async def delete(self, contact_id: int) -> None:
        """Delete a contact."""
        await self._client.call(ops.contacts_delete(contact_id))

    async def memberships(self, contact_id: int) -> list[ListMembership]:
        """The contact's status in each of its lists."""
        return await self._client.call(ops.contacts_memberships(contact_id))

    async def field_values(self, contact_id: int) -> list[FieldValue]:
        """The contact's custom-field values."""
        return await self._client.call(ops.contacts_field_values(contact_id))


class Memberships(_Resource):
    """``/contactLists``: a contact's status in a list."""

    def subscribe(self, contact_id: int, list_id: int) -> ListMembership:
        """Set the contact active in the list.

        This endpoint *does* re-subscribe a contact who unsubscribed themselves; check the
        contact's status first when that matters (the exporter always does).
        """
        return self._client.call(ops.memberships_set(contact_id, list_id, 1))

    def unsubscribe(self, contact_id: int, list_id: int) -> ListMembership:
        """Set the contact unsubscribed from the list."""
        return self._client.call(ops.memberships_set(contact_id, list_id, 2))

    def set_status(
        self, contact_id: int, list_id: int, status: MembershipStatus | int
    ) -> ListMembership:
        """Set any documented status (0 unconfirmed, 1 active, 2 unsubscribed)."""
        return self._client.call(ops.memberships_set(contact_id, list_id, status))


class AsyncMemberships(_AsyncResource):
    """``/contactLists`` (async)."""

    async def subscribe(self, contact_id: int, list_id: int) -> ListMembership:
        """Set the contact active in the list; see :meth:`Memberships.subscribe`."""
        return await self._client.call(ops.memberships_set(contact_id, list_id, 1))

    async def unsubscribe(self, contact_id: int, list_id: int) -> ListMembership:
        """Set the contact unsubscribed from the list."""
        return await self._client.call(ops.memberships_set(contact_id, list_id, 2))

    async def set_status(
        self, contact_id: int, list_id: int, status: MembershipStatus | int
    ) -> ListMembership:
        """Set any documented status."""
        return await self._client.call(ops.memberships_set(contact_id, list_id, status))


class Fields(_Resource):
    """``/fields`` and ``/fieldValues``: custom contact fields."""

    def iterate(self) -> Iterator[CustomField]:
        """Every custom field of the account, across all pages."""
        return self._client.paginate(ops.fields_pager())

    def create(
        self,
        title: str,
        *,
        type: str = "text",
        perstag: str | None = None,
        description: str = "",
    ) -> CustomField:
        """Create a custom field. Not retried once it may have reached the server."""
        return self._client.call(
            ops.fields_create(title, type=type, perstag=perstag, description=description)
        )

    def set_value(self, contact_id: int, field_id: int, value: str) -> FieldValue:
        """Set one contact's value of one field."""
        return self._client.call(ops.field_values_set(contact_id, field_id, value))


class AsyncFields(_AsyncResource):
    """``/fields`` and ``/fieldValues`` (async)."""

    def iterate(self) -> AsyncIterator[CustomField]:
        """Every custom field of the account, across all pages."""
        return self._client.paginate(ops.fields_pager())

    async def create(
        self,
        title: str,
        *,
        type: str = "text",
        perstag: str | None = None,
        description: str = "",
    ) -> CustomField:
        """Create a custom field; see :meth:`Fields.create`."""
        return await self._client.call(
            ops.fields_create(title, type=type, perstag=perstag, description=description)
        )

    async def set_value(self, contact_id: int, field_id: int, value: str) -> FieldValue:
        """Set one contact's value of one field."""
        return await self._client.call(ops.field_values_set(contact_id, field_id, value))


class BulkImport(_Resource):
    """``/import``: the bulk contact importer (up to 250 contacts a request)."""

    def submit(
        self, contacts: Sequence[BulkImportContact], *, exclude_automations: bool = False
    ) -> BulkImportQueued:
        """Queue contacts for import (an upsert by email); the batch runs asynchronously.

        Args:
            contacts: 1 to 250 contacts; the body must stay within 399,999 bytes.
            exclude_automations: Keep ActiveCampaign's automations from running for them.

        Raises:
            ConfigurationError: Too many contacts or too large a body (nothing is sent).
            BulkImportRejectedError: ActiveCampaign rejected the whole request; its
                ``failures`` name the contacts and reasons.
        """
        return self._client.call(
            ops.bulk_import_submit(contacts, exclude_automations=exclude_automations)
        )

    def submit_encoded(self, encoded: Sequence[bytes]) -> BulkImportQueued:
        """Queue contacts already encoded with :func:`encode_bulk_contact` (the exporter's path)."""
        return self._client.call(ops.bulk_import_submit_encoded(encoded))

    def info(self, batch_id: str) -> BulkImportInfo:
        """Where one batch stands; ``status`` is ``None`` for about a second after a submit."""
        return self._client.call(ops.bulk_import_info(batch_id))

    def overview(self) -> BulkImportOverview:
        """The account's outstanding and recently completed batches."""
        return self._client.call(ops.bulk_import_overview())


class AsyncBulkImport(_AsyncResource):
    """``/import`` (async)."""

    async def submit(
        self, contacts: Sequence[BulkImportContact], *, exclude_automations: bool = False
    ) -> BulkImportQueued:
        """Queue contacts for import; see :meth:`BulkImport.submit`."""
        return await self._client.call(
            ops.bulk_import_submit(contacts, exclude_automations=exclude_automations)
        )

    async def submit_encoded(self, encoded: Sequence[bytes]) -> BulkImportQueued:
        """Queue contacts already encoded with :func:`encode_bulk_contact`."""
        return await self._client.call(ops.bulk_import_submit_encoded(encoded))

    async def info(self, batch_id: str) -> BulkImportInfo:
        """Where one batch stands."""
        return await self._client.call(ops.bulk_import_info(batch_id))

    async def overview(self) -> BulkImportOverview:
        """The account's outstanding and recently completed batches."""
        return await self._client.call(ops.bulk_import_overview())
