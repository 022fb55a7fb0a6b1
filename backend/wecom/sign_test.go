package wecom_test

import (
	"github.com/salesapp/scrm/backend/wecom/wecomcrypt"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
)

// signature signs enc with s's token.
func signature(s *wecomtest.CallbackSender, timestamp, nonce, enc string) string {
	c, err := wecomcrypt.New(s.Token, s.EncodingAESKey)
	if err != nil {
		panic(err)
	}
	return c.Signature(timestamp, nonce, enc)
}
